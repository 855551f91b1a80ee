"""Online feedback: production signals (thumbs, ratings, regenerations, corrections, arena votes, implicit events)
brought in from the tools teams export them from, kept as events, and turned into weak labels of source
`online-feedback` beside people, never in their place (`store.overlap.NOT_VOTES`).

- `signals`: the one shape every importer turns its tool's records into, and the weak label each signal makes;
- `sources`: the tools (Open WebUI, Langfuse, LangSmith, Chatbot Arena / MT-Bench, OpenAssistant, PrefDesk's own
  event JSONL), each auto-detected from its records;
- `importer`: a file into the project, all or nothing; `siblings`: regenerate-then-keep pairs across events;
- `trends`: rates per day or week, model version and bucket, with intervals; `backflow`: conversations with bad
  signals back into the prompt pool and the items people label.
"""
