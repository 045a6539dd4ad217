import sys

from py_agent.cli import main

sys.exit(main())
