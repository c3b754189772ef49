"""Message catalogs (<locale>/LC_MESSAGES/messages.po) and hotline audio prompts."""
