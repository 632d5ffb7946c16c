"""An unmodified client: it knows nothing of regionsim."""

import json
import sys
import urllib.error
import urllib.request

request = urllib.request.Request(sys.argv[1], headers={"X-Api-Key": "some-key"})
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:  # urllib raises for 4xx and 5xx answers
    status, body = error.code, error.read()
print(json.dumps({"status": status, "body": body.decode()}))
