"""The errors a project file raises; the message says what to do (the CLI prints it, the desk shows it)."""


class ProjectError(Exception):
    """A project file that cannot be opened or used; the message says what to do."""


class ProjectBusy(ProjectError):
    """Another program (an import, say) holds the write lock past the busy timeout; try again shortly."""
