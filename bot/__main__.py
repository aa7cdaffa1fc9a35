"""`python -m bot`: the same command line as `python run.py` and `faqbot`."""
import sys

from bot.cli import main

sys.exit(main(prog="python -m bot"))
