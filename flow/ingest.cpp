// The ingest graph is defined here (see flow/ingest.hpp).
