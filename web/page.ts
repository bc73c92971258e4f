/** A page of the console: it builds itself into `main` and stops its polling when the route changes. */
export interface Page {
  close(): void;
}
