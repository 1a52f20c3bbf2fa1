// Starts Swagger UI on the studio's OpenAPI document (a file, so the CSP needs no inline script).
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });
