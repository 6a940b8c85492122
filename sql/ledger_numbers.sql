-- Ledger numbers (table ledger_numbers): how the projection tables name a ledger
-- (ledger/ledger_numbers.py).

-- name: ledger_number
SELECT number FROM ledger_numbers WHERE ledger = :ledger

-- name: assign_ledger_number
-- The next free number, unless the ledger has one. Only recalculations call this, and they
-- take turns (the projection lock), so two never hand out the same number.
INSERT INTO ledger_numbers (ledger, number)
SELECT CAST(:ledger AS VARCHAR(100)), COALESCE(MAX(number), 0) + 1
FROM ledger_numbers
HAVING NOT EXISTS (SELECT 1 FROM ledger_numbers WHERE ledger = :ledger)
