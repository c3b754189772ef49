"""The infrastructure every layer stands on.

Settings, database and tables, Redis, keys, privacy, translations.
"""
