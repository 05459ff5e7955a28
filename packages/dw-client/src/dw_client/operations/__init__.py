"""Client operations, one module per resource family; ``dw_client.client.Client`` combines them."""
