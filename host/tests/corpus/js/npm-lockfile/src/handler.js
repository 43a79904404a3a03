const R = require('ramda');
const dayjs = require('dayjs');

const byCategory = R.pipe(
  R.groupBy(R.prop('category')),
  R.map(R.pipe(R.pluck('amount'), R.sum)),
);

module.exports.report = async (event) => {
  const expenses = event.expenses;
  return {
    month: dayjs(event.date).format('MMMM YYYY'),
    total: R.sum(R.pluck('amount', expenses)),
    byCategory: byCategory(expenses),
    largest: R.reduce(R.maxBy(R.prop('amount')), expenses[0], expenses).description,
  };
};
