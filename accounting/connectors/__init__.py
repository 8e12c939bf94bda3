"""One module per accounting system, each implementing connectors.base.Connector."""
