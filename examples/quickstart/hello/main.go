// Command hello is the feasibility study's test application: it greets,
// then serves HTTP on port 8081.
package main

import (
	"fmt"
	"log"
	"net/http"
)

func main() {
	fmt.Println("Hello World")
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Hello World") })
	fmt.Println("Server started on port 8081")
	log.Fatal(http.ListenAndServe(":8081", nil))
}
