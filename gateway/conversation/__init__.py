"""The text conversation of SMS, WhatsApp and Telegram: engine, texts, keywords, segments."""
