import sys

from model_studio.cli import main

sys.exit(main())
