// Command dashboard-check loads Grafana dashboard JSON files with the Grafana Foundation SDK's
// strict unmarshalling (Go types generated from Grafana's own dashboard schema): a field Grafana
// does not know, a value of the wrong type or a missing required field is an error, and so is a
// panel's options or field config against its panel plugin's schema, and a query against the
// Prometheus query schema. It prints one JSON line per dashboard — its title, its panels and the
// PromQL of every query — for the tests to compare with the metrics the services export.
//
//	deploy/grafana/check/run.sh deploy/grafana/dashboards/*.json
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

type query struct {
	Panel string `json:"panel"`
	Expr  string `json:"expr"`
}

type summary struct {
	File    string   `json:"file"`
	Title   string   `json:"title"`
	Panels  []string `json:"panels"`
	Queries []query  `json:"queries"`
	Errors  []string `json:"errors"`
}

func check(path string) summary {
	result := summary{File: path, Panels: []string{}, Queries: []query{}, Errors: []string{}}
	raw, err := os.ReadFile(path)
	if err != nil {
		result.Errors = append(result.Errors, err.Error())
		return result
	}
	var board dashboard.Dashboard
	if failures := messages(board.UnmarshalJSONStrict(raw)); len(failures) > 0 {
		result.Errors = append(result.Errors, failures...)
		return result
	}
	result.Errors = append(result.Errors, messages(board.Validate())...)
	if board.Title != nil {
		result.Title = *board.Title
	}
	// The SDK checked every panel above but kept none (its PanelOrRowPanel drops a panel whose
	// empty error list it takes for a failure, and a panel its queries alike): read them again.
	items, err := panelsIn(raw)
	if err != nil {
		result.Errors = append(result.Errors, err.Error())
		return result
	}
	for i, item := range items {
		var panel dashboard.Panel
		for _, failure := range messages(panel.UnmarshalJSONStrict(item)) {
			result.Errors = append(result.Errors, fmt.Sprintf("panel %d: %s", i, failure))
		}
		title := fmt.Sprintf("panel %d", i)
		if panel.Title != nil {
			title = *panel.Title
		}
		result.Panels = append(result.Panels, title)
		var queries struct {
			Targets []json.RawMessage `json:"targets"`
		}
		if err := json.Unmarshal(item, &queries); err != nil {
			result.Errors = append(result.Errors, fmt.Sprintf("panel %q: %v", title, err))
			continue
		}
		for j, target := range queries.Targets {
			var promql prometheus.Dataquery
			failures := messages(promql.UnmarshalJSONStrict(target))
			if promql.Datasource == nil || promql.Datasource.Type == nil ||
				*promql.Datasource.Type != "prometheus" {
				failures = append(failures, "its datasource is not of type prometheus")
			}
			for _, failure := range failures {
				result.Errors = append(result.Errors,
					fmt.Sprintf("panel %q, query %d: %s", title, j, failure))
			}
			result.Queries = append(result.Queries, query{Panel: title, Expr: promql.Expr})
		}
	}
	return result
}

// panelsIn lists the dashboard's panels, those inside rows included, rows left out.
func panelsIn(raw []byte) ([]json.RawMessage, error) {
	var board struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &board); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	for _, item := range board.Panels {
		var row struct {
			Type   string            `json:"type"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(item, &row); err != nil {
			return nil, err
		}
		if row.Type == "row" {
			items = append(items, row.Panels...)
		} else {
			items = append(items, item)
		}
	}
	return items, nil
}

// messages lists what went wrong, one entry per field. The SDK returns its list of errors as an
// error even when the list is empty, so an empty list means success.
func messages(err error) []string {
	if err == nil {
		return nil
	}
	var list cog.BuildErrors
	if errors.As(err, &list) {
		found := []string{}
		for _, one := range list {
			found = append(found, one.Error())
		}
		return found
	}
	return []string{err.Error()}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashboard-check DASHBOARD.json...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()
	failed := false
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		result := check(path)
		failed = failed || len(result.Errors) > 0
		if err := out.Encode(result); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if failed {
		os.Exit(1)
	}
}
