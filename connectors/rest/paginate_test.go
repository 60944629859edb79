package rest_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// MustPagedAPI serves 3 pages of 2 items: /tokens uses ?pageToken=, /links returns
// the next page's URL, /bare returns items at the top level.
func MustPagedAPI(tb testing.TB) string {
	return MustServer(tb, func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		if r.URL.Path == "/links" {
			page, _ = strconv.Atoi(r.URL.Query().Get("p"))
		}
		if r.URL.Query().Get("pageSize") != "2" {
			http.Error(w, "pageSize lost", http.StatusBadRequest)
			return
		}
		items := []any{page*2 + 1, page*2 + 2}
		body := map[string]any{"data": map[string]any{"items": items}}
		if page < 2 {
			switch r.URL.Path {
			case "/tokens":
				body["nextPageToken"] = strconv.Itoa(page + 1)
			case "/links":
				body["links"] = map[string]any{"next": "/links?pageSize=2&p=" + strconv.Itoa(page+1)}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	})
}

func TestPaginate(t *testing.T) {
	api := MustPagedAPI(t)
	tests := []struct {
		name      string
		path      string
		paginate  map[string]any
		wantItems []any
		wantPages int
		wantNext  any
	}{
		{"Token", "/tokens", map[string]any{"next": "nextPageToken", "param": "pageToken", "items": "data.items"}, []any{1, 2, 3, 4, 5, 6}, 3, nil},
		{"URL", "/links", map[string]any{"next": "links.next", "items": "data.items"}, []any{1, 2, 3, 4, 5, 6}, 3, nil},
		{"MaxPages", "/tokens", map[string]any{"next": "nextPageToken", "param": "pageToken", "items": "data.items", "max_pages": 2.0}, []any{1, 2, 3, 4}, 2, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := MustCall(t, &rest.Connector{}, map[string]any{"url": api + tt.path, "params": map[string]any{"pageSize": 2.0}, "paginate": tt.paginate})
			j := JSONOut(t, out)
			if !reflect.DeepEqual(j["items"], tt.wantItems) {
				t.Errorf("items = %v, want %v", j["items"], tt.wantItems)
			}
			if j["pages"] != tt.wantPages || j["next"] != tt.wantNext {
				t.Errorf("pages, next = %v, %v; want %v, %v", j["pages"], j["next"], tt.wantPages, tt.wantNext)
			}
			WantContains(t, logText(t, out), "page 1: 2 items", "page 2: 2 items")
			if out["status_code"] != 200 {
				t.Errorf("status_code = %v", out["status_code"])
			}
		})
	}
}

func TestPaginateErrors(t *testing.T) {
	api := MustPagedAPI(t)
	base := MustHTTPBin(t)
	tests := []struct {
		name     string
		url      string
		paginate map[string]any
		input    bool
		want     string
	}{
		{"ErrItemsPath", api + "/tokens?pageSize=2", map[string]any{"next": "nextPageToken", "param": "pageToken", "items": "nope"}, true, `no list at paginate.items "nope"`},
		{"ErrNoParam", api + "/tokens?pageSize=2", map[string]any{"next": "nextPageToken", "items": "data.items"}, true, "paginate needs param"},
		{"ErrNotJSON", base + "/html", map[string]any{"next": "n"}, false, "page 1 of"},
		{"ErrStatus", base + "/status/404", map[string]any{"next": "n"}, false, "page 1: GET"},
		{"ErrUnknownKey", api, map[string]any{"next": "n", "limit": 1.0}, true, `unknown key "limit"`},
		{"ErrMaxPages", api, map[string]any{"next": "n", "max_pages": 0.0}, true, "max_pages must be a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": tt.url, "paginate": tt.paginate})
			if tt.input {
				WantInputError(t, err, tt.want)
				return
			}
			WantContains(t, err.Error(), tt.want)
		})
	}
}

func TestPaginateOtherHostRefused(t *testing.T) {
	var api string
	api = MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"items": []any{1}, "next": otherHost(api) + "/page2"})
	})
	_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": api, "token": "secret", "paginate": map[string]any{"next": "next", "items": "items"}})
	WantInputError(t, err, "points to another host or scheme")
}
