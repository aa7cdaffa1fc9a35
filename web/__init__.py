"""The chat's pages, scripts and styles: shipped inside faqbot as the package data of `bot.web`."""
