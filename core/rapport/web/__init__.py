"""The web application: Litestar, server-rendered pages, plugin routes, the JSON API."""
