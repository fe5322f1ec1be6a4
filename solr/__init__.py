"""The Solr side of the project: configset, launcher, and a local cluster for tests and benches."""
