"""Cases: numbering, filing, look-up, the reporter's mailbox, media checks, the audit trail."""
