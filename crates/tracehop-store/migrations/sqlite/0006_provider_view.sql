-- What a provider sees: each hop row keeps the opaque reference its provider names it by (a keyed
-- hash of its position; see tracehop_core::traceback::reference), so a provider's hop lists and
-- their cursors carry no position. Rows written before this are filled in when next written.
ALTER TABLE hops ADD COLUMN reference TEXT;
