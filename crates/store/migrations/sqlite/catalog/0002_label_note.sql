-- The fact-check note a labelled video shows beside its label.
ALTER TABLE videos ADD COLUMN label_note TEXT;
