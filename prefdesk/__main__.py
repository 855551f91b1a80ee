import multiprocessing
import sys

from prefdesk.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # in a PyInstaller bundle, import workers start through here
    sys.exit(main())
