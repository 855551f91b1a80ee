"""The `prefdesk` program: the desk when no command is given (Qt is loaded only then), else a headless command."""

import multiprocessing
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from prefdesk import cli

    args = cli.parse(argv)
    if args.smoke_test:
        from prefdesk.ui.smoke import smoke_test

        return smoke_test()
    if args.command is None:
        from prefdesk.ui.app import run_desk

        # PREFDESK_RATER: who opens a project double-clicked on a one-person workstation (no rater dialog);
        # PREFDESK_QUIT_AFTER_MS: close the desk after that long (the installed package's check in CI)
        quit_after = os.environ.get("PREFDESK_QUIT_AFTER_MS")
        return run_desk(args.project, args.rater or os.environ.get("PREFDESK_RATER"),
                        int(quit_after) if quit_after else None)
    return cli.run(args)


if __name__ == "__main__":
    multiprocessing.freeze_support()  # in a PyInstaller bundle, import workers start through here
    sys.exit(main())
