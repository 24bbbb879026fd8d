-- A configuration reload the leading daemon refused ("configuration reload refused at 14:02:
-- rrn.toml:12:9: …"), until a good reload or a restart: `rrn status` shows it, since
-- `systemctl reload` itself cannot fail. NULL when the configuration in force is the file's.
ALTER TABLE leader ADD COLUMN reload_refused TEXT;
