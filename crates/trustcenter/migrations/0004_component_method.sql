-- How each stored component was identified (`opkg-status`, `binary-banner`, …), so the re-check
-- can tell a package database's word from a banner read out of a binary when it matches feed
-- records by CPE. NULL for releases registered before: read as "from a binary".
ALTER TABLE components ADD COLUMN method TEXT;
