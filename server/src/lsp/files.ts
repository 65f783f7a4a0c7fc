// What cross-file features (definition, rename) need from the server: a URI for a file and
// its current text (open document first, then disk).
export interface Files {
  uriOf(file: string): string;
  read(file: string): string | undefined;
}
