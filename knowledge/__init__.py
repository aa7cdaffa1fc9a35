"""The shipped knowledge base: faqbot ships this folder as the package data of `bot.shipped_knowledge`.

Clinic staff: leave this file alone; it only lets `pip install` carry the YAML files along (see README.md).
"""
