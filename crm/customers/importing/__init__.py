"""Import of DMS sales and service exports (CSV or XLSX): read, map columns, parse, resolve, write."""
