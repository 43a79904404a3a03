import { toCents, format } from 'shared-money';

export const handler = async (event) => {
  const cents = event.items.reduce((sum, item) => sum + toCents(item.price) * item.qty, 0);
  return { total: format(cents), cents };
};
