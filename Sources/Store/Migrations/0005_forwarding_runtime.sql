-- What forwarding needs at run time beyond the first schema.

-- Album items arrive as separate updates sharing a media group; the deliver job gathers them.
ALTER TABLE inbound_events ADD COLUMN group_key text;
CREATE INDEX inbound_events_group_idx ON inbound_events (source, account_id, group_key) WHERE group_key IS NOT NULL;

-- getUpdates long-poll mode remembers where it is.
ALTER TABLE telegram_accounts ADD COLUMN poll_offset bigint NOT NULL DEFAULT 0;

-- A message can be delivered in several parts (split text, album): each part is linked.
ALTER TABLE message_logs ADD COLUMN dest_chat_id bigint;
