"""`python -m helpers.data fetch [--source auto|osf|synthetic] [--dest DIR]`: see `helpers.data.main`."""

import sys

from helpers.data import main

sys.exit(main())
