"""The JSON API of the contract (DESIGN.md): its routes, request and response shapes, and OpenAPI document."""
