"""Numbered schema migrations. The schema of a new project is all of them, run in order.

Each migration is a small function on an open connection, inside the caller's transaction.
"""

import sqlite3
from collections.abc import Callable

from prefdesk.store.ids import content_hash, stored_content

APPLICATION_ID = 0x50724473  # "PrDs" in the SQLite header (offset 68): what makes a file a PrefDesk project


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: `executescript` would commit the caller's transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""


def m001_initial(conn: sqlite3.Connection) -> None:
    """The base schema. Candidates and steps live on their item's row as JSON arrays: they are always
    read with the item and never queried alone, and one row per item halves the writes of an import."""
    _script(conn, 
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE raters (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
            level TEXT, notes TEXT, created_at TEXT NOT NULL);
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY, rater_id TEXT NOT NULL REFERENCES raters(id),
            started_at TEXT NOT NULL, ended_at TEXT, app_version TEXT, guideline_version TEXT);
        CREATE TABLE guidelines (version TEXT PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE import_batches (
            id TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL, format TEXT NOT NULL,
            created_at TEXT NOT NULL, items_added INTEGER NOT NULL, labels_added INTEGER NOT NULL,
            duplicates INTEGER NOT NULL);
        CREATE TABLE items (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, prompt TEXT NOT NULL, prompt_messages TEXT,
            meta TEXT NOT NULL DEFAULT '{}', scenario TEXT, risk_level TEXT, bucket TEXT,
            is_gold INTEGER NOT NULL DEFAULT 0, priority REAL NOT NULL DEFAULT 0, source TEXT,
            batch_id TEXT REFERENCES import_batches(id), content_hash INTEGER NOT NULL,
            created_at TEXT NOT NULL, candidates TEXT NOT NULL DEFAULT '[]', steps TEXT);
        CREATE INDEX items_content_hash ON items(content_hash);
        CREATE INDEX items_scenario ON items(scenario);
        CREATE INDEX items_bucket ON items(bucket);
        CREATE TABLE labels (
            id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id),
            rater_id TEXT NOT NULL REFERENCES raters(id), session_id TEXT REFERENCES sessions(id),
            kind TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL, duration_ms INTEGER,
            guideline_version TEXT, app_version TEXT NOT NULL, round INTEGER NOT NULL DEFAULT 1,
            display_order TEXT, source TEXT NOT NULL, confidence REAL,
            supersedes TEXT REFERENCES labels(id));
        CREATE INDEX labels_item_rater ON labels(item_id, rater_id);
        CREATE INDEX labels_rater_time ON labels(rater_id, created_at);
        CREATE INDEX labels_supersedes ON labels(supersedes) WHERE supersedes IS NOT NULL;
        CREATE TRIGGER labels_no_update BEFORE UPDATE ON labels
            BEGIN SELECT RAISE(ABORT, 'labels are append-only: supersede, never update'); END;
        CREATE TRIGGER labels_no_delete BEFORE DELETE ON labels
            BEGIN SELECT RAISE(ABORT, 'labels are append-only: nothing is deleted'); END;
        CREATE VIEW current_labels AS
            SELECT * FROM labels l WHERE NOT EXISTS (SELECT 1 FROM labels s WHERE s.supersedes = l.id);
        """
    )


def m002_queue_columns(conn: sqlite3.Connection) -> None:
    """Denormalise "how many raters labelled this item" so the queue never counts labels."""
    _script(conn, 
        """
        ALTER TABLE items ADD COLUMN n_raters INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE items ADD COLUMN open INTEGER NOT NULL DEFAULT 1;
        UPDATE items SET n_raters = (
            SELECT COUNT(DISTINCT rater_id) FROM labels WHERE labels.item_id = items.id);
        CREATE INDEX items_queue ON items(is_gold, open, priority DESC, id);
        """
    )
    overlap = conn.execute("SELECT value FROM settings WHERE key = 'overlap'").fetchone()
    conn.execute("UPDATE items SET open = n_raters < ?", (int(overlap[0]) if overlap else 2,))


def m003_flags(conn: sqlite3.Connection) -> None:
    """Raters flag items for review; a flag is a fact about an item, not a label."""
    _script(conn, """
        CREATE TABLE flags (
            id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id),
            rater_id TEXT NOT NULL REFERENCES raters(id), created_at TEXT NOT NULL, note TEXT);
        CREATE INDEX flags_item ON flags(item_id);
        """)


def m004_crc_content_hash(conn: sqlite3.Connection) -> None:
    """Content hashes change from BLAKE2b to CRC-32 + length (four times cheaper on import, and a hit is
    now confirmed on the whole content); recompute them, a chunk of rows at a time."""
    last = 0
    while True:
        rows = conn.execute("SELECT rowid, kind, prompt, candidates, steps FROM items WHERE rowid > ? "
                            "ORDER BY rowid LIMIT 10000", (last,)).fetchall()
        if not rows:
            return
        conn.executemany("UPDATE items SET content_hash = ? WHERE rowid = ?",
                         [(content_hash(*stored_content(*row[1:])), row[0]) for row in rows])
        last = rows[-1][0]


def m005_current_labels_view(conn: sqlite3.Connection) -> None:
    """`current_labels` tests each label against one list of superseded ids (built once per query)
    instead of a lookup per label: stats and exports over a million labels run ~1.7x faster."""
    _script(conn, """
        DROP VIEW current_labels;
        CREATE VIEW current_labels AS
            SELECT * FROM labels WHERE id NOT IN (SELECT supersedes FROM labels WHERE supersedes IS NOT NULL);
        """)


def m006_rationale_rule_and_gold_answers(conn: sqlite3.Connection) -> None:
    """`rationale_required` (never / high-risk / always) replaces the pairwise-only boolean; gold items
    can carry their expected answer (JSON), which exports and the `labels` format give back."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'rationale_required_high_risk'").fetchone()
    if row is not None:
        rule = '"high-risk"' if row[0] == "true" else '"never"'
        conn.execute("INSERT OR REPLACE INTO settings VALUES ('rationale_required', ?)", (rule,))
        conn.execute("DELETE FROM settings WHERE key = 'rationale_required_high_risk'")
    conn.execute("ALTER TABLE items ADD COLUMN gold_answer TEXT")


def m007_application_id(conn: sqlite3.Connection) -> None:
    """Mark the file as a PrefDesk project in the SQLite header, so other programs' databases are refused
    before anything is written to them (see `project._identify`)."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def m008_leases(conn: sqlite3.Connection) -> None:
    """Items being shown to a rater are leased to them for a while, so raters working at once are not all
    handed the same item beyond the overlap target (released on a label, a skip, closing, or expiry)."""
    _script(conn, """
        CREATE TABLE leases (
            item_id TEXT NOT NULL, rater_id TEXT NOT NULL, expires_at TEXT NOT NULL,
            PRIMARY KEY (item_id, rater_id)) WITHOUT ROWID;
        """)


def m009_runs_and_scores(conn: sqlite3.Connection) -> None:
    """Training runs launched from the project (their spec, frozen dataset, event log and report) and the
    scores a reward-model run gave each candidate."""
    _script(conn, """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL, dataset TEXT NOT NULL,
            dataset_manifest TEXT, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
            report TEXT, model_dir TEXT, events TEXT NOT NULL DEFAULT '');
        CREATE TABLE scores (
            run_id TEXT NOT NULL REFERENCES runs(id), item_id TEXT NOT NULL REFERENCES items(id),
            position INTEGER NOT NULL, score REAL NOT NULL, dims TEXT,
            PRIMARY KEY (run_id, item_id, position)) WITHOUT ROWID;
        CREATE INDEX scores_item ON scores(item_id);
        """)


def m010_governance(conn: sqlite3.Connection) -> None:
    """Re-annotation (a share of a rater's first labels scheduled to come back to them as round 2), a
    guideline version's clause and the item it came from (arbitration), and where a gold answer came from.
    Indexes for the quality report: decisions, and items by risk level (as by scenario and bucket)."""
    _script(conn, """
        CREATE TABLE reannotations (
            item_id TEXT NOT NULL REFERENCES items(id), rater_id TEXT NOT NULL REFERENCES raters(id),
            first_label TEXT NOT NULL, due_at TEXT NOT NULL, done_label TEXT,
            PRIMARY KEY (item_id, rater_id)) WITHOUT ROWID;
        CREATE INDEX reannotations_due ON reannotations(rater_id, due_at) WHERE done_label IS NULL;
        CREATE INDEX labels_arbitration ON labels(item_id) WHERE source = 'arbitration';
        CREATE INDEX items_risk_level ON items(risk_level);
        ALTER TABLE guidelines ADD COLUMN clause TEXT;
        ALTER TABLE guidelines ADD COLUMN item_id TEXT;
        ALTER TABLE items ADD COLUMN gold_from TEXT;
        """)


def m011_versions(conn: sqlite3.Connection) -> None:
    """Frozen dataset versions (`store.versions`): the label ids they hold (with each label's layer) as one
    compressed blob, the choices that made them, and their manifest."""
    _script(conn, """
        CREATE TABLE versions (
            name TEXT PRIMARY KEY, created_at TEXT NOT NULL, parent TEXT REFERENCES versions(name),
            aggregate TEXT NOT NULL, filters TEXT NOT NULL, layers TEXT NOT NULL, quotas TEXT NOT NULL,
            labels BLOB NOT NULL, manifest TEXT NOT NULL);
        """)


def m012_team_files(conn: sqlite3.Connection) -> None:
    """The rater files a lead split (`store.team.split`): which rater each is for and the items given to them
    (a compressed JSON list), so a merge takes from a file only that rater's work on those items
    (`store.merge`). A rater file holds its own row too: the id it is known by."""
    _script(conn, """
        CREATE TABLE team_files (
            id TEXT PRIMARY KEY, rater_id TEXT NOT NULL REFERENCES raters(id), created_at TEXT NOT NULL,
            path TEXT NOT NULL, items BLOB NOT NULL);
        """)


def m013_frozen_versions(conn: sqlite3.Connection) -> None:
    """What a version's export reads besides its labels, frozen with it (`store.versions`): each item's
    candidate count and gold answer, and a reliability policy's decisions. NULL for versions made before."""
    _script(conn, "ALTER TABLE versions ADD COLUMN frozen BLOB;")


def m014_item_edits(conn: sqlite3.Connection) -> None:
    """The lead's edits of item metadata (`store.item_meta`): item, field, old and new value, who, when."""
    _script(conn, """
        CREATE TABLE item_edits (
            id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), field TEXT NOT NULL, old TEXT,
            new TEXT, by TEXT NOT NULL, at TEXT NOT NULL);
        CREATE INDEX item_edits_item ON item_edits(item_id);
        """)


def m015_runs_scored_at(conn: sqlite3.Connection) -> None:
    """When a run's scores were last stored: the desk shows the run just scored (`store.runs.last_scored_run`)."""
    _script(conn, "ALTER TABLE runs ADD COLUMN scored_at TEXT;")


def m016_item_search(conn: sqlite3.Connection) -> None:
    """Full-text search over prompts and candidate texts (`store.search`): a contentless FTS5 index keyed by the
    item's rowid (items are never deleted), filled up to `search_state.upto` on first search and caught up at
    each search after, so an import pays nothing for it; triggers keep indexed items current when their
    candidates change (a rewrite, a merge)."""
    answers = "(SELECT group_concat(json_extract(value, '$.text'), char(10)) FROM json_each({}.candidates))"
    _script(conn, f"""
        CREATE VIRTUAL TABLE items_fts USING fts5(prompt, answers, content='', tokenize='unicode61 remove_diacritics 2');
        CREATE TABLE search_state (upto INTEGER NOT NULL);
        INSERT INTO search_state VALUES (0);
        CREATE TRIGGER items_fts_update AFTER UPDATE OF prompt, candidates ON items
            WHEN old.rowid <= (SELECT upto FROM search_state)
            BEGIN
                INSERT INTO items_fts (items_fts, rowid, prompt, answers)
                    VALUES ('delete', old.rowid, old.prompt, {answers.format('old')});
                INSERT INTO items_fts (rowid, prompt, answers) VALUES (new.rowid, new.prompt, {answers.format('new')});
            END;
        """)


def m017_prompt_pool(conn: sqlite3.Connection) -> None:
    """The prompt pool generation samples from (`store.prompts`): one row per distinct prompt (text, or chat
    turns), with its scenario / risk level / bucket / source; `generated_by` is the last run that sampled it."""
    _script(conn, """
        CREATE TABLE prompts (
            id TEXT PRIMARY KEY, content_hash TEXT NOT NULL UNIQUE, prompt TEXT NOT NULL, prompt_messages TEXT,
            scenario TEXT, risk_level TEXT, bucket TEXT, source TEXT, meta TEXT NOT NULL DEFAULT '{}',
            file TEXT, created_at TEXT NOT NULL, generated_by TEXT);
        CREATE INDEX prompts_bucket ON prompts(bucket);
        CREATE INDEX prompts_scenario ON prompts(scenario);
        """)


def m018_prefilter(conn: sqlite3.Connection) -> None:
    """Rule pre-filters and judge routing: `items.held_back` says why an item is kept from people (a rule's drop,
    a confident judge); `rule_hits` records every hit of a rule with its rule set's version."""
    _script(conn, """
        ALTER TABLE items ADD COLUMN held_back TEXT;
        CREATE TABLE rule_hits (
            id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), rule TEXT NOT NULL,
            rules_version TEXT NOT NULL, position INTEGER, action TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
        CREATE INDEX rule_hits_item ON rule_hits(item_id);
        """)


def m019_judge_templates(conn: sqlite3.Connection) -> None:
    """The LLM judge's prompt templates, versioned like the guidelines (`jobs.judge`): a judge's identity names
    the template version it read. `judge_gold`: a judge's verdicts on gold items, kept apart from labels (a judge
    never labels a gold item) for its gold accuracy in the quality report."""
    _script(conn, """
        CREATE TABLE judge_templates (
            name TEXT NOT NULL, version TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL,
            PRIMARY KEY (name, version));
        CREATE TABLE judge_gold (
            rater_id TEXT NOT NULL REFERENCES raters(id), item_id TEXT NOT NULL REFERENCES items(id),
            verdict TEXT NOT NULL, correct INTEGER NOT NULL, at TEXT NOT NULL, PRIMARY KEY (rater_id, item_id));
        """)


def m020_evalsets(conn: sqlite3.Connection) -> None:
    """Frozen evaluation sets (`store.evalsets`): the pool prompts of each, in order, their hash and manifest."""
    _script(conn, """
        CREATE TABLE evalsets (
            name TEXT PRIMARY KEY, created_at TEXT NOT NULL, prompt_ids TEXT NOT NULL, sha256 TEXT NOT NULL,
            manifest TEXT NOT NULL);
        """)


def m021_arena(conn: sqlite3.Connection) -> None:
    """Blind arena items of an evaluation (`jobs.arena`): `items.eval_run` marks an item made to evaluate a model
    (never training data: exports and dataset versions skip it); `arena_items` keeps which side the policy's
    answer is on, apart from the item, so nothing a rater sees names a model."""
    _script(conn, """
        ALTER TABLE items ADD COLUMN eval_run TEXT;
        CREATE TABLE arena_items (
            item_id TEXT PRIMARY KEY REFERENCES items(id), run_id TEXT NOT NULL, prompt_id TEXT NOT NULL,
            policy_position INTEGER NOT NULL);
        CREATE INDEX arena_items_run ON arena_items(run_id);
        """)


_LENGTH = "length(json_extract(candidates, '$[{}].text'))"


def m022_report_reads(conn: sqlite3.Connection) -> None:
    """What the quality report reads over millions of labels, kept ready: `items.longer`, the sign of len(A) - len(B)
    of a pair's answers (1: A is longer, -1: B is, 0: equal or not a pair), a generated column whose index holds the
    value, so SQLite keeps it current on every insert and candidate change and the report reads the index, not the
    items' answers (min/max make the sign with one length of each answer: a CASE of comparisons took each twice, and an
    import of 1M items 1.5 s longer); `column_cache`, the labels' columns coded as integers a range of rowids at a
    time (`store.column_cache`); and an index on the few reference labels (`quality.reference` read them by scanning
    all labels)."""
    _script(conn, f"""
        ALTER TABLE items ADD COLUMN longer INTEGER GENERATED ALWAYS AS (
            CASE WHEN kind != 'pairwise' THEN 0 ELSE min(max({_LENGTH.format(0)} - {_LENGTH.format(1)}, -1), 1) END) VIRTUAL;
        CREATE INDEX items_longer ON items(longer) WHERE longer != 0;
        CREATE TABLE column_cache (
            name TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, rows INTEGER NOT NULL,
            check_row TEXT NOT NULL, dtypes TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (name, first));
        CREATE INDEX labels_reference ON labels(item_id) WHERE source = 'reference';
        """)


def m023_one_vote(conn: sqlite3.Connection) -> None:
    """One current vote per rater, item and round, held by the schema (`store.votes`): the partial unique index on
    root votes and the trigger on what a label may supersede; `vote_repairs`, the recorded repair of a double vote
    (append-only like labels), which `current_labels` now leaves out too; and `double_vote_roots`, the older roots
    of the doubles this file already holds (a rater's file split twice, say), which the index leaves out so the
    file opens, is reported and can be repaired."""
    from prefdesk.store import votes

    _script(conn, """
        CREATE TABLE vote_repairs (
            label_id TEXT PRIMARY KEY REFERENCES labels(id), kept_label TEXT NOT NULL REFERENCES labels(id),
            by TEXT NOT NULL, at TEXT NOT NULL) WITHOUT ROWID;
        CREATE TRIGGER vote_repairs_no_update BEFORE UPDATE ON vote_repairs
            BEGIN SELECT RAISE(ABORT, 'vote repairs are a record: nothing is changed'); END;
        CREATE TRIGGER vote_repairs_no_delete BEFORE DELETE ON vote_repairs
            BEGIN SELECT RAISE(ABORT, 'vote repairs are a record: nothing is deleted'); END;
        CREATE TABLE double_vote_roots (label_id TEXT PRIMARY KEY REFERENCES labels(id)) WITHOUT ROWID;
        DROP VIEW current_labels;
        CREATE VIEW current_labels AS
            SELECT * FROM labels WHERE id NOT IN (
                SELECT supersedes FROM labels WHERE supersedes IS NOT NULL UNION ALL SELECT label_id FROM vote_repairs);
        """)
    older_roots = [i for (i,) in conn.execute(
        f"SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY item_id, rater_id, round "
        f"ORDER BY created_at DESC, id DESC) AS nth FROM labels WHERE supersedes IS NULL AND {votes.vote_sql()}) "
        "WHERE nth > 1")]
    conn.executemany("INSERT INTO double_vote_roots VALUES (?)", [(i,) for i in older_roots])
    conn.execute(votes.index_sql(older_roots))
    conn.execute(votes.TRIGGER_SQL)


def m024_rater_changes(conn: sqlite3.Connection) -> None:
    """Every change of a rater's role or name (`store.people`): who, when, from, to. Labels keep the rater's id,
    so a renamed rater keeps their work. `sessions.rater_role`: the role a sitting was given in, which a label's
    layer and exported role read (`rows.ROLE_AT_LABEL`); NULL for sessions from before (the rater's role then)."""
    _script(conn, """
        CREATE TABLE rater_changes (
            id TEXT PRIMARY KEY, rater_id TEXT NOT NULL REFERENCES raters(id), field TEXT NOT NULL,
            old TEXT NOT NULL, new TEXT NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL);
        CREATE INDEX rater_changes_rater ON rater_changes(rater_id);
        ALTER TABLE sessions ADD COLUMN rater_role TEXT;
        """)


def m025_feedback(conn: sqlite3.Connection) -> None:
    """Online feedback (`prefdesk.feedback`): each production signal as an event (its id a rowid: events never
    travel between projects as rows, and a million of them import without a second index), with where it came from (the tool
    and its own id, unique: an export imported twice adds nothing), its conversation, the prompt turns and the
    answer, and `item_hash`, the content hash of the item its weak label is on (NULL: an event only);
    `feedback_conversations`, each conversation's counts as the imports add its events (what the trends read: a
    million events are a few hundred thousand conversations, and their rates come back in milliseconds), and
    `feedback_counts`, the events of each tool and signal (the Feedback panel's summary). Labels of
    source online-feedback are no votes (`overlap.NOT_VOTES`): the one-vote index and trigger are made again."""
    from prefdesk.store import votes

    _script(conn, """
        CREATE TABLE feedback_events (
            id INTEGER PRIMARY KEY, batch_id TEXT NOT NULL, tool TEXT NOT NULL, external_id TEXT NOT NULL,
            conversation_id TEXT, message_id TEXT, parent_id TEXT, signal TEXT NOT NULL, value REAL,
            value_text TEXT, at TEXT NOT NULL, model TEXT, model_version TEXT, user_id TEXT, bucket TEXT,
            scenario TEXT, prompt_messages TEXT, answer TEXT, comment TEXT, meta TEXT NOT NULL DEFAULT '{}',
            item_hash INTEGER, UNIQUE (tool, external_id));
        CREATE INDEX feedback_events_at ON feedback_events(at);
        CREATE INDEX feedback_events_conversation ON feedback_events(tool, conversation_id, parent_id);
        CREATE TABLE feedback_conversations (
            tool TEXT NOT NULL, conversation TEXT NOT NULL, first_at TEXT NOT NULL, model TEXT, model_version TEXT,
            bucket TEXT, scenario TEXT, events INTEGER NOT NULL, thumbs INTEGER NOT NULL, thumbs_down INTEGER NOT NULL,
            regenerates INTEGER NOT NULL, handoffs INTEGER NOT NULL, PRIMARY KEY (tool, conversation)) WITHOUT ROWID;
        CREATE INDEX feedback_conversations_first ON feedback_conversations(first_at);
        CREATE TABLE feedback_counts (
            tool TEXT NOT NULL, signal TEXT NOT NULL, events INTEGER NOT NULL, first_at TEXT NOT NULL,
            last_at TEXT NOT NULL, PRIMARY KEY (tool, signal)) WITHOUT ROWID;
        CREATE TRIGGER feedback_events_no_update BEFORE UPDATE ON feedback_events
            BEGIN SELECT RAISE(ABORT, 'feedback events are a record: nothing is changed'); END;
        CREATE TRIGGER feedback_events_no_delete BEFORE DELETE ON feedback_events
            BEGIN SELECT RAISE(ABORT, 'feedback events are a record: nothing is deleted'); END;
        DROP INDEX labels_one_vote;
        DROP TRIGGER labels_supersede_rules;
        """)
    conn.execute(votes.index_sql([i for (i,) in conn.execute("SELECT label_id FROM double_vote_roots")]))
    conn.execute(votes.TRIGGER_SQL)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_initial,
    m002_queue_columns,
    m003_flags,
    m004_crc_content_hash,
    m005_current_labels_view,
    m006_rationale_rule_and_gold_answers,
    m007_application_id,
    m008_leases,
    m009_runs_and_scores,
    m010_governance,
    m011_versions,
    m012_team_files,
    m013_frozen_versions,
    m014_item_edits,
    m015_runs_scored_at,
    m016_item_search,
    m017_prompt_pool,
    m018_prefilter,
    m019_judge_templates,
    m020_evalsets,
    m021_arena,
    m022_report_reads,
    m023_one_vote,
    m024_rater_changes,
    m025_feedback,
]
SCHEMA_VERSION = len(MIGRATIONS)
