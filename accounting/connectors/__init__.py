"""One module per accounting system, each implementing connectors.base.Connector."""


def connector_for(connection=None, *, provider=None):
    """The connector for `connection` (its tenant and current access token), or a bare one for
    `provider` (OAuth before there is a connection)."""
    provider = connection.provider if connection is not None else provider
    tenant_id = connection.tenant_id if connection is not None else None
    access_token = connection.access_token if connection is not None else None
    if provider == "xero":
        from .xero import XeroConnector

        return XeroConnector(tenant_id=tenant_id, access_token=access_token)
    if provider == "quickbooks":
        from .quickbooks import QuickBooksConnector

        return QuickBooksConnector(realm_id=tenant_id, access_token=access_token)
    raise ValueError(f"Unknown accounting provider {provider!r}.")
