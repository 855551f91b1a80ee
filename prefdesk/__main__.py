import sys

from prefdesk.cli import main

sys.exit(main())
