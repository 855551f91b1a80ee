"""Bulk writes to a project file (imports, merges): a transaction with foreign-key checks off and, for a large
one, the secondary indexes dropped and rebuilt and the journal out of WAL. A part of `Project`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from prefdesk.store import votes



class BulkWrites:
    """`Project.bulk_write` and what it needs (mixed into `Project`: `self.conn`, `self.transaction`)."""

    @contextmanager
    def bulk_write(self, large: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction for bulk ingest whose writer makes every reference itself.

        Foreign-key checks cost a lookup per row; they are switched off for the bulk insert only
        (the pragma cannot change inside a transaction) and back on afterwards, whatever happens.

        `large` is for a write that adds more rows than the project holds (an import into a new
        project). Two things then change, both measured on 1M records:
        - the secondary indexes of items and labels (all but the content hash, which the ingest looks
          things up in, and the few superseding labels', which the supersede trigger reads) are dropped first and built again, sorted, before the commit (SQLite time
          54 -> 44 s);
        - if no other connection has the file open, the transaction runs on a rollback journal rather
          than the WAL. The WAL writes every new page twice (into the log, then the checkpoint); a
          rollback journal only keeps the old content of pages that existed before, so the new ones
          are written once (2 GB less disk traffic, ~10 s). Atomic and durable all the same
          (synchronous=FULL; a crash leaves a hot journal that the next open rolls back), but the file
          is the writer's alone until the commit: a desk or `prefdesk stats` opening it meanwhile is
          told it is busy. The project is back in WAL mode afterwards.
        - the supersede trigger (`store.votes`) is dropped too (a trigger costs every insert ~2.6 us, 2.6 s of a
          1M import, though no imported row supersedes another), and the rows written are checked against its
          rules in one query before it is made again: a breach fails the whole write.
        It is all one transaction, so a failure leaves indexes and rows as they were.
        """
        journal = self._leave_wal() if large else False
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.transaction() as conn:
                dropped = self._drop_secondary_indexes() if large else []
                if large:
                    after = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM labels").fetchone()[0]
                    conn.execute("DROP TRIGGER IF EXISTS labels_supersede_rules")
                yield conn
                if large:
                    votes.check_supersedes(conn, after)
                    conn.execute(votes.TRIGGER_SQL)
                if dropped:
                    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
                    conn.execute("PRAGMA cache_size = -8192")  # the sorts take as much again: 75 MB less at 1M
                    for sql in dropped:
                        conn.execute(sql)
                    conn.execute(f"PRAGMA cache_size = {int(cache)}")
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")
            if journal:
                self._enter_wal()

    def _leave_wal(self) -> bool:
        """Switch this connection to a rollback journal if it is the file's only one; say whether it did."""
        try:
            return self.conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
        except sqlite3.OperationalError:  # "database is locked": someone else has it open; stay in WAL
            return False

    def _enter_wal(self) -> None:
        try:
            self.conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass  # another connection opened it meanwhile and is reading: it has already put the file in WAL

    def _drop_secondary_indexes(self) -> list[str]:
        """Drop the indexes a bulk write may rebuild; return the statements that make them again."""
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('items', 'labels') AND name NOT IN ('items_content_hash', 'labels_supersedes')").fetchall()
        for name, _ in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in rows]
