-- A mail joins the task of any message its References name, in whichever conversation (the
-- sender's address) that message was: messages are found by their id alone.
CREATE INDEX task_messages_by_id ON task_messages (adapter, message_id);
