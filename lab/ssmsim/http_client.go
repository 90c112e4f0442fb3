package ssmsim

import (
	"net/http"

	"github.com/nodewright/nodewright/lab/localhttp"
)

// HTTPClient is the HTTP client SDK clients aimed at a Sim should use; see localhttp.Client.
func HTTPClient() *http.Client { return localhttp.Client() }
