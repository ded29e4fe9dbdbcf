"""The demo ERP: a system of record reachable through a SQLAlchemy URL.

``schema`` holds its tables (vendor master, purchase orders, goods receipts,
invoices, journal entries); ``tools`` registers the governed tools
(``erp.lookup_vendor``, ``erp.match_po``, ``erp.create_journal_entry``) with a
gate registry. Nothing here is callable except through the gate.
"""
