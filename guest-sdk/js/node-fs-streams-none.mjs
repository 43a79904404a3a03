// Stand-ins for `fs.createReadStream` and `fs.createWriteStream` in a
// function whose code names neither and brings no packages (the streams
// and the `stream` port they need stay out of its component).
function missing(name) {
  return () => {
    const error = new Error(
      `fs.${name} is not in this build: wasm-lambda build includes fs streams when the ` +
        "function's code names them or it has packages (node_modules or layers)",
    );
    error.code = 'ERR_METHOD_NOT_IMPLEMENTED';
    throw error;
  };
}

export const createReadStream = missing('createReadStream');
export const createWriteStream = missing('createWriteStream');
