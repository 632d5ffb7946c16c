"""An unmodified client: it knows nothing of regionsim."""

import json
import sys

import httpx

response = httpx.get(sys.argv[1], headers={"X-Api-Key": "some-key"}, timeout=10)
print(json.dumps({"status": response.status_code, "body": response.text}))
