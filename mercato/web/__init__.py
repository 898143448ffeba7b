"""FastAPI plumbing shared by every head (API, dashboard, storefront): the one way a
handler gets a database session, and the request parts a plain ``def`` handler cannot
await itself (form fields, raw bodies)."""
