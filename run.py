"""faqbot's command line (the design card's entry point): `python run.py [serve|check|ask|eval|report|announce]`.

The same command line is installed as `faqbot` and runs as `python -m bot`; it lives in bot/cli.py.
"""
import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="run.py"))
