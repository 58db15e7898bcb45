"""Message templates, one folder per locale; installed as the data package `bot.templates`."""
