-- The secret Telegram sends with each update to a tenant's webhook (sealed like the bot token),
-- set when the owner connects the webhook; without it no command is answered.
ALTER TABLE chat_configs ADD COLUMN webhook_secret_encrypted text;
