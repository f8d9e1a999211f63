"""The log lines of the diagnosis worlds (application output, as the container writes it)."""

from __future__ import annotations

SERVING = [f'GET /color from 10.244.0.5:4{i:04d} -> 200 "red" (1.{i % 9}ms)' for i in range(12)]
GO_PANIC = [
    "panic: runtime error: index out of range [0] with length 0",
    "",
    "goroutine 23 [running]:",
    "main.getColor(...)",
    "\t/go/src/app/main.go:211",
    "main.colorHandler({0xa1b2c0, 0xc0000a8000}, 0xc0000b6000)",
    "\t/go/src/app/main.go:143 +0x1c5",
    "net/http.HandlerFunc.ServeHTTP(0x0?, {0xa1b2c0?, 0xc0000a8000?}, 0x0?)",
    "\t/usr/local/go/src/net/http/server.go:2136 +0x29",
    "exit status 2",
]
JAVA_NPE = [
    'Exception in thread "http-nio-8080-exec-3" java.lang.NullPointerException: Cannot invoke '
    '"String.length()" because "name" is null',
    "\tat com.acme.web.ColorService.normalise(ColorService.java:42)",
    "\tat com.acme.web.ColorController.color(ColorController.java:27)",
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
]
PY_KEYERROR = [
    "Traceback (most recent call last):",
    '  File "/app/web/handlers.py", line 88, in color',
    "    return PALETTE[name]",
    "KeyError: 'crimson'",
]
MISSING_ENV = ["FATAL config: required environment variable COLOR_SERVICE_URL is not set"]
