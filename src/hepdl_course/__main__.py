import sys

from hepdl_course.cli import main

sys.exit(main())
