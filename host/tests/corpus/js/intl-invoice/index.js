const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

exports.handler = async (event) => {
  const subtotal = event.lines.reduce((sum, line) => sum + line.qty * line.unit, 0);
  const tax = subtotal * event.taxRate;
  return {
    issued: new Date(event.issued).toLocaleDateString('en-US', { timeZone: 'UTC' }),
    subtotal: money.format(subtotal),
    tax: money.format(tax),
    units: event.lines.reduce((n, line) => n + line.qty, 0).toLocaleString('en-US'),
    rate: new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(event.taxRate),
  };
};
