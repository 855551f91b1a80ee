"""The desk: the window a rater labels in (the session model it renders is `labeling.session`), its views of
each label kind, the side pane, the File menu and the dialogs it opens."""
