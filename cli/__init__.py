"""The `scoreledger` command line: parse, call one library method, format the result."""
